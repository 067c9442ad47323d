;; badptr hands kiln.result a range outside its memory: the host must refuse
;; it as a trap, not read host memory.
(module
  (import "kiln" "result" (func $result (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $result (i32.const 0xfff0) (i32.const 100))))
