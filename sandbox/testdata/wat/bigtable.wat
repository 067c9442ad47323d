;; bigtable starts with a table of 300,000 elements, past the cap.
(module
  (table 300000 funcref)
  (memory (export "memory") 1)
  (func (export "_start")))
