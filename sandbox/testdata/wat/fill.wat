;; fill writes 64 KiB with memory.fill 1000 times: a few instructions that
;; move 64 MB, which fuel must charge by size, not by instruction.
(module
  (memory (export "memory") 2)
  (func (export "_start")
    (local $i i32)
    (loop $again
      (memory.fill (i32.const 0) (i32.const 0x61) (i32.const 0x10000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))))
