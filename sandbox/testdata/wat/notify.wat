;; notify exercises the ABI v2 notification host functions, one case per
;; call, chosen by the digit in its arguments {"case":N}:
;;   1  5000 increasing progress reports (total 5000, message "step")
;;   2  5000 log messages {"logger":"w","data":"line"} at info
;;   3  progress 5, 5, 4, 6: the repeated and the smaller one are dropped
;;   4  a 5000-byte log message (dropped unread), then progress with a
;;      2000-byte message (cut to 1024 bytes)
;;   5  progress NaN (a trap)
;;   6  a log message at level 8 (a trap)
;;   7  a log message with an unknown field (a trap)
;; and then answers with a text result.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "kiln" "result" (func $result (param i32 i32)))
  (import "kiln" "progress" (func $progress (param f64 f64 i32 i32)))
  (import "kiln" "log_message" (func $log_message (param i32 i32 i32)))
  (memory (export "memory") 1)
  ;; 0: iovec for stdin; 1024: the arguments
  (data (i32.const 64) "step")
  (data (i32.const 128) "{\"logger\":\"w\",\"data\":\"line\"}")
  (data (i32.const 192) "{\"msg\":\"x\"}")
  (data (i32.const 256) "{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}")
  (func $case (result i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 64))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.sub (i32.load8_u (i32.const 1032)) (i32.const 0x30)))
  (func $progresses
    (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (call $progress (f64.convert_i32_u (local.get $i)) (f64.const 5000) (i32.const 64) (i32.const 4))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 5000)))))
  (func $logs
    (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (call $log_message (i32.const 1) (i32.const 128) (i32.const 28))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 5000)))))
  (func $repeats
    (call $progress (f64.const 5) (f64.const 0) (i32.const 0) (i32.const 0))
    (call $progress (f64.const 5) (f64.const 0) (i32.const 0) (i32.const 0))
    (call $progress (f64.const 4) (f64.const 0) (i32.const 0) (i32.const 0))
    (call $progress (f64.const 6) (f64.const -1) (i32.const 0) (i32.const 0)))
  (func $sizes
    (memory.fill (i32.const 4096) (i32.const 0x61) (i32.const 5000))
    (call $log_message (i32.const 1) (i32.const 4096) (i32.const 5000))
    (call $progress (f64.const 1) (f64.const 2) (i32.const 4096) (i32.const 2000)))
  (func (export "_start")
    (block $done
      (block $c7
        (block $c6
          (block $c5
            (block $c4
              (block $c3
                (block $c2
                  (block $c1
                    (br_table $done $c1 $c2 $c3 $c4 $c5 $c6 $c7 $done (call $case)))
                  (call $progresses) (br $done))
                (call $logs) (br $done))
              (call $repeats) (br $done))
            (call $sizes) (br $done))
          (call $progress (f64.const nan) (f64.const 0) (i32.const 0) (i32.const 0)) (br $done))
        (call $log_message (i32.const 8) (i32.const 128) (i32.const 28)) (br $done))
      (call $log_message (i32.const 1) (i32.const 192) (i32.const 11)))
    (call $result (i32.const 256) (i32.const 43))))
