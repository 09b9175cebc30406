;; Executes `unreachable`: a trap, reported as exit code 134, reason Error, with the trap
;; text in the termination message.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    unreachable))
