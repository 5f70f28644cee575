;; Relu6's gradient in one sweep (src/engine/kernels/relu6Grad.ts): dx = dy · (1 where 0 < x <= 6,
;; else 0) (tfjs-core's convention, boundaries included; a product, so zeros keep dy's sign as the
;; composed gradient's do), f32x4 then the remainder one by one.
;; Pointers are byte offsets into the memory of the TensorFlow.js wasm backend; n is in elements.
(module
  (import "env" "memory" (memory 0))

  (func (export "relu6_grad") (param $dy i32) (param $x i32) (param $n i32) (param $dx i32)
    (local $end i32) (local $tail i32) (local $v v128) (local $s f32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $tail (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $vec
      (br_if $done (i32.ge_u (local.get $x) (local.get $tail)))
      (local.set $v (v128.load (local.get $x)))
      (v128.store (local.get $dx)
        (f32x4.mul (v128.load (local.get $dy))
                   (v128.and (v128.const f32x4 1 1 1 1)
                             (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0))
                                       (f32x4.le (local.get $v) (v128.const f32x4 6 6 6 6))))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
      (br $vec)))
    (block $done1 (loop $one
      (br_if $done1 (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $s (f32.load (local.get $x)))
      (f32.store (local.get $dx)
        (f32.mul (f32.load (local.get $dy))
                 (select (f32.const 1) (f32.const 0)
                         (i32.and (f32.gt (local.get $s) (f32.const 0)) (f32.le (local.get $s) (f32.const 6))))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
      (local.set $dx (i32.add (local.get $dx) (i32.const 4)))
      (br $one))))
)
