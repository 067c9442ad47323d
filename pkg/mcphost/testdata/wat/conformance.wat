;; conformance.wat holds the conformance fixture tools the Go toolkit cannot
;; express yet: results with embedded resources, and a hand-written JSON
;; Schema 2020-12 input schema (conformance.manifest.json). It tells its
;; tools apart by the size of argv[0] (args_sizes_get counts the name and
;; its NUL), which differs for each, and answers each with a fixed result
;; document.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "kiln" "result" (func $result (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{\"content\":[{\"type\":\"resource\",\"resource\":{\"uri\":\"test://embedded-resource\",\"mimeType\":\"text/plain\",\"text\":\"This is an embedded resource content.\"}}]}")
  (data (i32.const 174) "{\"content\":[{\"type\":\"text\",\"text\":\"Multiple content types test:\"},{\"type\":\"image\",\"data\":\"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\",\"mimeType\":\"image/png\"},{\"type\":\"resource\",\"resource\":{\"uri\":\"test://mixed-content-resource\",\"mimeType\":\"text/plain\",\"text\":\"A resource among other content\"}}]}")
  (data (i32.const 530) "{\"content\":[{\"type\":\"text\",\"text\":\"The arguments matched the JSON Schema 2020-12 input schema.\"}]}")
  (data (i32.const 636) "{\"content\":[{\"type\":\"text\",\"text\":\"unknown tool\"}],\"isError\":true}")
  (data (i32.const 710) "{\"content\":[{\"type\":\"text\",\"text\":\"The Mcp-Param-Region header matched the region argument.\"}]}")
  (func (export "_start")
    (local $size i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $size (i32.load (i32.const 4)))
    (if (i32.eq (local.get $size) (i32.const 23)) ;; test_embedded_resource
      (then (call $result (i32.const 16) (i32.const 150)) (return)))
    (if (i32.eq (local.get $size) (i32.const 28)) ;; test_multiple_content_types
      (then (call $result (i32.const 174) (i32.const 348)) (return)))
    (if (i32.eq (local.get $size) (i32.const 25)) ;; json_schema_2020_12_tool
      (then (call $result (i32.const 530) (i32.const 98)) (return)))
    (if (i32.eq (local.get $size) (i32.const 18)) ;; test_x_mcp_header
      (then (call $result (i32.const 710) (i32.const 95)) (return)))
    (call $result (i32.const 636) (i32.const 66))))
