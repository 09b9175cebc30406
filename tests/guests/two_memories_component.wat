;; A WASI preview2 command component with two linear memories (as one built with the
;; preview1 adapter has) whose `run` spins forever: it needs two pool slots.
(component
  (core module $m
    (memory 1)
    (func (export "run") (result i32)
      (loop $forever (br $forever))
      i32.const 0))
  (core module $adapter (memory 1))
  (core instance $i (instantiate $m))
  (core instance $a (instantiate $adapter))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run-inst (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-inst)))
