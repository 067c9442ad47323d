;; hold grows its memory to 16 MiB, writes every byte, then spins until its
;; fuel or time runs out: a call that holds its whole memory limit to the end.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 255)) (i32.const -1)) (then unreachable))
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x1000000))
    (loop $forever (br $forever))))
