;; multimem: a hostile guest with two linear memories (Rust cannot emit
;; one, so it is written by hand; funnel_tests::wat_guest assembles it).
;;
;; Each call grows the second memory by 40% of the function's MemorySize,
;; then its own by 40%, then the second by 40% more. Counted together the
;; last growth is refused, and the guest traps (`Runtime.OutOfMemory`),
;; having used ~80% of its MemorySize (its REPORT's Max Memory Used). A
;; limiter that looked at each memory alone would let it reach 120% and
;; return {"grown":3}.
(component
  (import "funnel:function/types" (instance $types
    (type $context' (record
      (field "request-id" string)
      (field "function-name" string)
      (field "function-version" string)
      (field "invoked-function-arn" string)
      (field "memory-limit-in-mb" u32)
      (field "deadline-ms" u64)
      (field "trace-id" (option string))
      (field "client-context" (option string))))
    (export "context" (type (eq $context')))
    (type $error' (record
      (field "error-type" string)
      (field "error-message" string)))
    (export "function-error" (type (eq $error')))))
  (alias export $types "context" (type $context))
  (alias export $types "function-error" (type $function-error))

  ;; The second memory, and a way to grow it.
  (core module $Other
    (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32)
      local.get 0
      memory.grow))

  (core module $Main
    (import "other" "grow" (func $grow_other (param i32) (result i32)))
    (memory (export "memory") 1)
    ;; A bump allocator above the return area and the answer.
    (global $heap (mut i32) (i32.const 4096))
    (data (i32.const 1024) "{\"grown\":3}")

    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      ;; align up to the requested alignment
      global.get $heap
      local.get 2
      i32.add
      i32.const 1
      i32.sub
      i32.const 0
      local.get 2
      i32.sub
      i32.and
      local.tee $ptr
      local.get 3
      i32.add
      global.set $heap
      (block $fits
        (loop $more
          global.get $heap
          memory.size
          i32.const 65536
          i32.mul
          i32.le_u
          br_if $fits
          i32.const 1
          memory.grow
          i32.const -1
          i32.eq
          (if (then unreachable))
          br $more))
      local.get $ptr)

    ;; init: ok(())
    (func (export "init") (result i32)
      i32.const 16
      i32.const 0
      i32.store8
      i32.const 16)

    ;; handle(args) where args points at (context, event); the context's
    ;; memory-limit-in-mb is at offset 32.
    (func (export "handle") (param $args i32) (result i32)
      (local $step i32)
      ;; 40% of MemorySize, in 64 KiB pages (16 per MB)
      local.get $args
      i32.load offset=32
      i32.const 32
      i32.mul
      i32.const 5
      i32.div_u
      local.set $step
      local.get $step
      call $grow_other
      i32.const -1
      i32.eq
      (if (then unreachable))
      local.get $step
      memory.grow
      i32.const -1
      i32.eq
      (if (then unreachable))
      local.get $step
      call $grow_other
      i32.const -1
      i32.eq
      (if (then unreachable))
      ;; ok(list) at 32: discriminant, then pointer and length
      i32.const 32
      i32.const 0
      i32.store8
      i32.const 36
      i32.const 1024
      i32.store
      i32.const 40
      i32.const 11
      i32.store
      i32.const 32)

    (func (export "shutdown")))

  (core instance $other (instantiate $Other))
  (core instance $main (instantiate $Main
    (with "other" (instance $other))))

  (func $init (result (result (error $function-error)))
    (canon lift (core func $main "init")
      (memory (core memory $main "memory"))
      (realloc (core func $main "cabi_realloc"))))
  (func $handle
    (param "context" $context)
    (param "event" (list u8))
    (result (result (list u8) (error $function-error)))
    (canon lift (core func $main "handle")
      (memory (core memory $main "memory"))
      (realloc (core func $main "cabi_realloc"))))
  (func $shutdown (canon lift (core func $main "shutdown")))
  (export "init" (func $init))
  (export "handle" (func $handle))
  (export "shutdown" (func $shutdown)))
