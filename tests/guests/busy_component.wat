;; A WASI preview2 command component made of four core instances (as real components are:
;; the program, shims, the preview1 adapter) whose `run` spins forever. Checks that many of
;; them can run at once in a pool sized for that many guests.
(component
  (core module $m
    (func (export "run") (result i32)
      (loop $forever (br $forever))
      i32.const 0))
  (core module $shim (func (export "f")))
  (core instance $i (instantiate $m))
  (core instance $s1 (instantiate $shim))
  (core instance $s2 (instantiate $shim))
  (core instance $s3 (instantiate $shim))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run-inst (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-inst)))
