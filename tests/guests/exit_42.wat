;; Exits with code 42 through WASI proc_exit: the container must end with exitCode 42,
;; reason Error.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $proc_exit (i32.const 42))))
