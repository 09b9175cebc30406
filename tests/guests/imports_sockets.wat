;; Imports a function no WASI preview1 host provides: the module compiles but cannot be
;; instantiated, a host failure (ContainerCannotRun), not a guest exit.
(module
  (import "wasi_snapshot_preview1" "sock_open_imaginary" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
