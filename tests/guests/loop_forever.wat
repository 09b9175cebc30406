;; Spins forever without calling the host: only epoch interruption can stop it, so it
;; proves kills and deadlines work on guests that never yield by themselves.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $again
      (br $again))))
