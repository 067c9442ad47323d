;; spin never returns: the call must end by its time limit.
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))
