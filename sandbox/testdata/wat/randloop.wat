;; randloop asks WASI for 16 MiB of random bytes, again and again: a few
;; instructions a round that make the host do a lot of work, which fuel
;; must charge by length and the deadline must stop.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 256)
  (func (export "_start")
    (loop $again
      (drop (call $random_get (i32.const 0) (i32.const 0x1000000)))
      (br $again))))
