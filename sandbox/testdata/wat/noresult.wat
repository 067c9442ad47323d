;; noresult declares a tool but exits without calling kiln.result.
(module
  (import "kiln" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
