;; clockloop reads the clock in a loop that never ends: each host call is
;; cheap, and the call must still stop at its deadline.
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $again
      (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 0)))
      (br $again))))
