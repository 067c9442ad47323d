;; echo: a Kiln tool module written by hand in WebAssembly text, without any
;; toolkit, to show that the ABI (toolkits/ABI.md) is language-neutral.
;;
;; Its one tool, "echo", returns its arguments as structuredContent together
;; with the number of calls this instance has served, which is always 1: the
;; host runs every call in a fresh instance.
;;
;; Build: wat2wasm echo.wat -o echo.raw.wasm
;;        kiln embed echo.raw.wasm echo.manifest.json -o echo.wasm
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "kiln" "result" (func $result (param i32 i32)))
  (import "kiln" "log" (func $log (param i32 i32 i32)))

  (memory (export "memory") 4)

  ;; Layout: 0x0000 iovec and counters, 0x0100 argv, 0x0400 constants,
  ;; 0x2000 stdin (64 KiB), 0x12000 the result document.
  (global $calls (mut i32) (i32.const 0))
  (global $stdin i32 (i32.const 0x2000))
  (global $stdinCap i32 (i32.const 0x10000))
  (global $out i32 (i32.const 0x12000))

  (data (i32.const 0x400) "{\"content\":[{\"type\":\"text\",\"text\":\"echoed\"}],\"structuredContent\":{\"calls\":")
  (data (i32.const 0x480) ",\"args\":")
  (data (i32.const 0x490) "}}")
  (data (i32.const 0x4a0) "echo called")
  (data (i32.const 0x4b0) "{\"content\":[{\"type\":\"text\",\"text\":\"unknown tool\"}],\"isError\":true}")

  ;; append copies len bytes from src to the output cursor and returns the new cursor.
  (func $append (param $cursor i32) (param $src i32) (param $len i32) (result i32)
    (memory.copy (local.get $cursor) (local.get $src) (local.get $len))
    (i32.add (local.get $cursor) (local.get $len)))

  ;; toolIsEcho checks that argv[0] is "echo".
  (func $toolIsEcho (result i32)
    (local $argv0 i32)
    (drop (call $args_sizes_get (i32.const 0x10) (i32.const 0x14)))
    (if (i32.ne (i32.load (i32.const 0x10)) (i32.const 1)) (then (return (i32.const 0))))
    (if (i32.ne (i32.load (i32.const 0x14)) (i32.const 5)) (then (return (i32.const 0))))
    (drop (call $args_get (i32.const 0x18) (i32.const 0x100)))
    (local.set $argv0 (i32.load (i32.const 0x18)))
    ;; "echo" little-endian is 0x6f686365
    (i32.eq (i32.load (local.get $argv0)) (i32.const 0x6f686365)))

  (func (export "_start")
    (local $len i32) (local $n i32) (local $cursor i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (call $log (i32.const 1) (i32.const 0x4a0) (i32.const 11))
    (if (i32.eqz (call $toolIsEcho))
      (then (call $result (i32.const 0x4b0) (i32.const 66)) (return)))
    ;; Read all of stdin.
    (block $done
      (loop $read
        (i32.store (i32.const 0) (i32.add (global.get $stdin) (local.get $len)))
        (i32.store (i32.const 4) (i32.sub (global.get $stdinCap) (local.get $len)))
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (i32.add (local.get $len) (local.get $n)))
        (br_if $read (i32.lt_u (local.get $len) (global.get $stdinCap)))))
    ;; {"content":[...],"structuredContent":{"calls":N,"args":ARGS}}
    (local.set $cursor (call $append (global.get $out) (i32.const 0x400) (i32.const 74)))
    (i32.store8 (local.get $cursor) (i32.add (i32.const 0x30) (global.get $calls)))
    (local.set $cursor (i32.add (local.get $cursor) (i32.const 1)))
    (local.set $cursor (call $append (local.get $cursor) (i32.const 0x480) (i32.const 8)))
    (local.set $cursor (call $append (local.get $cursor) (global.get $stdin) (local.get $len)))
    (local.set $cursor (call $append (local.get $cursor) (i32.const 0x490) (i32.const 2)))
    (call $result (global.get $out) (i32.sub (local.get $cursor) (global.get $out))))
)
