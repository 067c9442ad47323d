;; hugememory asks for 1 GiB of initial memory.
(module
  (memory (export "memory") 16384)
  (func (export "_start")))
