;; startloop has two pages of initial memory and a start function that
;; never returns: code that runs while the module is being instantiated.
(module
  (memory (export "memory") 2)
  (func $forever (loop $again (br $again)))
  (start $forever)
  (func (export "_start")))
