;; tablegrow grows a table without a maximum by 4096 elements a million
;; times: 4 billion elements (32 GB in the engine) unless the instrumenter's
;; table cap refuses the grows and fuel charges them by element count.
(module
  (table $t 0 funcref)
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32)
    (loop $again
      (drop (table.grow $t (ref.null func) (i32.const 4096)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000000))))))
