;; starttrap has 32 pages (2 MiB) of initial memory and a start function
;; that writes a byte to every 4 KiB of it, then traps: an instance whose
;; instantiation fails after its memory was allocated and touched.
(module
  (memory (export "memory") 32)
  (func $touch
    (local $at i32)
    (loop $again
      (i32.store8 (local.get $at) (i32.const 1))
      (local.set $at (i32.add (local.get $at) (i32.const 4096)))
      (br_if $again (i32.lt_u (local.get $at) (i32.const 0x200000))))
    unreachable)
  (start $touch)
  (func (export "_start")))
