;; A memory bomb: grows linear memory one 64 KiB page at a time and traps with
;; `unreachable` as soon as a grow is refused, as a guest allocator's abort would.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $again
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
        (then unreachable))
      (br $again))))
