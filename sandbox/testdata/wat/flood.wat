;; flood writes 100 MiB to stdout, 64 KiB at a time: a plain module's stdout
;; is its result, so the call must end with output too large.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (local $i i32)
    (memory.fill (i32.const 0x10000) (i32.const 0x78) (i32.const 0x10000))
    (i32.store (i32.const 0) (i32.const 0x10000))
    (i32.store (i32.const 4) (i32.const 0x10000))
    (loop $write
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $write (i32.lt_u (local.get $i) (i32.const 1600))))))
