;; grow asks for memory 1 MiB at a time until refused, then gives up the way
;; allocators do: the call must end with the memory limit.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable))
