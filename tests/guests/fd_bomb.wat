;; Opens its first preopened directory (fd 3) again and again without closing, up to
;; 100,000 times. It exits with the errno of the first refused open, or 0 if none was:
;; a container that could do this unbounded once took every descriptor of the server.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ".")
  (func (export "_start")
    (local $i i32) (local $r i32)
    (loop $again
      ;; path_open(fd 3, dirflags SYMLINK_FOLLOW, ".", oflags O_DIRECTORY, no rights, fdflags 0, out @16)
      (local.set $r (call $path_open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 1)
        (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16)))
      (if (local.get $r) (then (call $exit (local.get $r))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 100000))))
    (call $exit (i32.const 0))))
