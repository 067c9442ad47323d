;; ask exercises the ABI v2 input host functions (elicit, sample,
;; list_roots, input_response), one case per call, chosen by the digit in
;; its arguments {"case":N}:
;;   1  elicit {"key":"k",...}, copy the answer to 2048 and hand it to
;;      kiln.result as the result document
;;   2  list_roots with len 0, then the same with the answer
;;   3  elicit twice: the second is a new question unless answered
;;   4  elicit twice without input_response between (a trap)
;;   5  input_response with nothing pending (a trap)
;;   6  elicit with a document that is not JSON (a trap)
;;   7  elicit with a key that is not a name (a trap)
;;   8  sample without maxTokens (a trap)
;;   9  elicit {"defer":true,"key":"d",...} (reading an answer if there is
;;      one), then list_roots {"defer":true}, then kiln.result with the
;;      roots answer (as case 1) and return: unanswered, the call ends
;;      input_required with both
;;   10 elicit deferred 33 times (more than sandbox.MaxRoundInputs: a trap)
;;   11 elicit with "defer" neither true nor false (a trap)
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "kiln" "result" (func $result (param i32 i32)))
  (import "kiln" "elicit" (func $elicit (param i32 i32) (result i32)))
  (import "kiln" "sample" (func $sample (param i32 i32) (result i32)))
  (import "kiln" "list_roots" (func $list_roots (param i32 i32) (result i32)))
  (import "kiln" "input_response" (func $input_response (param i32)))
  (memory (export "memory") 1)
  ;; 0: iovec for stdin; 1024: the arguments; 2048: the answer
  (data (i32.const 64) "{\"key\":\"k\",\"message\":\"Sure?\",\"requestedSchema\":{\"type\":\"object\"}}")
  (data (i32.const 192) "{\"key\":\"a b\",\"message\":\"m\",\"requestedSchema\":{\"type\":\"object\"}}")
  (data (i32.const 320) "nope")
  (data (i32.const 384) "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":\"hi\"}}]}")
  (data (i32.const 512) "{\"defer\":true,\"key\":\"d\",\"message\":\"Sure?\",\"requestedSchema\":{\"type\":\"object\"}}")
  (data (i32.const 640) "{\"defer\":true}")
  (data (i32.const 768) "{\"defer\":\"yes\",\"message\":\"m\",\"requestedSchema\":{\"type\":\"object\"}}")
  (func $case (result i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 64))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.sub (i32.load8_u (i32.const 1032)) (i32.const 0x30)))
  (func $answer (param $n i32)
    (call $input_response (i32.const 2048))
    (call $result (i32.const 2048) (local.get $n)))
  ;; $deferred asks the deferred elicitation, reading an answer if any.
  (func $deferred
    (local $n i32)
    (local.set $n (call $elicit (i32.const 512) (i32.const 78)))
    (if (local.get $n) (then (call $input_response (i32.const 4096)))))
  (func (export "_start")
    (local $n i32)
    (block $done
      (block $c11
      (block $c10
      (block $c9
      (block $c8
        (block $c7
          (block $c6
            (block $c5
              (block $c4
                (block $c3
                  (block $c2
                    (block $c1
                      (br_table $done $c1 $c2 $c3 $c4 $c5 $c6 $c7 $c8 $c9 $c10 $c11 $done (call $case)))
                    (call $answer (call $elicit (i32.const 64) (i32.const 65))) (br $done))
                  (call $answer (call $list_roots (i32.const 0) (i32.const 0))) (br $done))
                (drop (call $elicit (i32.const 64) (i32.const 65))) (call $input_response (i32.const 4096))
                (call $answer (call $elicit (i32.const 64) (i32.const 65))) (br $done))
              (drop (call $elicit (i32.const 64) (i32.const 65)))
              (drop (call $elicit (i32.const 64) (i32.const 65))) (br $done))
            (call $input_response (i32.const 2048)) (br $done))
          (drop (call $elicit (i32.const 320) (i32.const 4))) (br $done))
        (drop (call $elicit (i32.const 192) (i32.const 63))) (br $done))
      (drop (call $sample (i32.const 384) (i32.const 68))) (br $done))
      (call $deferred)
      (local.set $n (call $list_roots (i32.const 640) (i32.const 14)))
      (if (local.get $n) (then (call $input_response (i32.const 2048))))
      (call $result (i32.const 2048) (local.get $n)) (br $done))
      (local.set $n (i32.const 33))
      (loop $again
        (call $deferred)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br_if $again (local.get $n)))
      (br $done))
      (drop (call $elicit (i32.const 768) (i32.const 65))))))
