;; logloop calls the kiln.log host function in a loop that never ends: the
;; call must still stop, by fuel or by its deadline.
(module
  (import "kiln" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "again")
  (func (export "_start")
    (loop $forever
      (call $log (i32.const 1) (i32.const 0) (i32.const 5))
      (br $forever))))
