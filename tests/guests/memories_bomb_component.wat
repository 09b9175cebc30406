;; A component of four core instances, three of which own a linear memory that `run` grows
;; by 24 MiB each (trapping if a growth is refused): 72 MiB in all, though no one memory
;; passes 25 MiB. A container's memory limit is over the sum, as a cgroup's is, so under
;; 64Mi this is OOMKilled; under 128Mi it exits 0.
(component
  (core module $g
    (memory 1)
    (func (export "grow") (result i32) (memory.grow (i32.const 384))))
  (core instance $g1 (instantiate $g))
  (core instance $g2 (instantiate $g))
  (core instance $g3 (instantiate $g))
  (core module $m
    (import "g1" "grow" (func $g1 (result i32)))
    (import "g2" "grow" (func $g2 (result i32)))
    (import "g3" "grow" (func $g3 (result i32)))
    (func (export "run") (result i32)
      (if (i32.lt_s (call $g1) (i32.const 0)) (then unreachable))
      (if (i32.lt_s (call $g2) (i32.const 0)) (then unreachable))
      (if (i32.lt_s (call $g3) (i32.const 0)) (then unreachable))
      i32.const 0))
  (core instance $i (instantiate $m
    (with "g1" (instance $g1)) (with "g2" (instance $g2)) (with "g3" (instance $g3))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run-inst (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-inst)))
