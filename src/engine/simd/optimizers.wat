;; Optimizer updates in one sweep over a parameter (src/engine/kernels/optimizerSteps.ts), f32x4 over
;; the first n elements (n a multiple of 4; the caller does the rest). Each is the composed update
;; of src/engine/ops/optimizerSteps.ts operation for operation, in float32, so both give the same
;; bits. Pointers are byte offsets into the memory of the TensorFlow.js wasm backend.
(module
  (import "env" "memory" (memory 0))

  ;; SGD (PyTorch's): g = grad + w·wd (flag 1);  with momentum (flag 2): next = buf·mom + g, or g on
  ;; a parameter's first step (flag 4), bufOut = next, g = g + next·mom (Nesterov, flag 8) or next;
  ;; wOut = w − g·lr.
  (func (export "sgd_step") (param $w i32) (param $grad i32) (param $buf i32) (param $n i32)
        (param $lr f32) (param $wd f32) (param $mom f32) (param $flags i32) (param $wOut i32) (param $bufOut i32)
    (local $end i32) (local $o i32) (local $g v128) (local $next v128)
    (local $vlr v128) (local $vwd v128) (local $vmom v128)
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $vwd (f32x4.splat (local.get $wd)))
    (local.set $vmom (f32x4.splat (local.get $mom)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $g (v128.load (i32.add (local.get $grad) (local.get $o))))
      (if (i32.and (local.get $flags) (i32.const 1))
        (then (local.set $g (f32x4.add (local.get $g) (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $o))) (local.get $vwd))))))
      (if (i32.and (local.get $flags) (i32.const 2))
        (then
          (local.set $next
            (if (result v128) (i32.and (local.get $flags) (i32.const 4))
              (then (local.get $g))
              (else (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $buf) (local.get $o))) (local.get $vmom)) (local.get $g)))))
          (v128.store (i32.add (local.get $bufOut) (local.get $o)) (local.get $next))
          (local.set $g
            (if (result v128) (i32.and (local.get $flags) (i32.const 8))
              (then (f32x4.add (local.get $g) (f32x4.mul (local.get $next) (local.get $vmom))))
              (else (local.get $next))))))
      (v128.store (i32.add (local.get $wOut) (local.get $o))
        (f32x4.sub (v128.load (i32.add (local.get $w) (local.get $o))) (f32x4.mul (local.get $g) (local.get $vlr))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $step))))

  ;; AdamW: mOut = m·b1 + grad·(1 − b1);  vOut = v·b2 + grad²·(1 − b2);
  ;; wOut = w·decay − (mOut / (√vOut / √c2 + eps))·stepSize, w·decay only with flag 1.
  (func (export "adamw_step") (param $w i32) (param $grad i32) (param $m i32) (param $v i32) (param $n i32)
        (param $b1 f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32) (param $sqrtc2 f32) (param $eps f32)
        (param $decay f32) (param $stepSize f32) (param $flags i32) (param $wOut i32) (param $mOut i32) (param $vOut i32)
    (local $end i32) (local $o i32) (local $g v128) (local $mn v128) (local $vn v128) (local $wd v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $g (v128.load (i32.add (local.get $grad) (local.get $o))))
      (local.set $mn (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (f32x4.splat (local.get $b1)))
                                (f32x4.mul (local.get $g) (f32x4.splat (local.get $omb1)))))
      (local.set $vn (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (f32x4.splat (local.get $b2)))
                                (f32x4.mul (f32x4.mul (local.get $g) (local.get $g)) (f32x4.splat (local.get $omb2)))))
      (v128.store (i32.add (local.get $mOut) (local.get $o)) (local.get $mn))
      (v128.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vn))
      (local.set $wd (v128.load (i32.add (local.get $w) (local.get $o))))
      (if (i32.and (local.get $flags) (i32.const 1))
        (then (local.set $wd (f32x4.mul (local.get $wd) (f32x4.splat (local.get $decay))))))
      (v128.store (i32.add (local.get $wOut) (local.get $o))
        (f32x4.sub (local.get $wd)
          (f32x4.mul
            (f32x4.div (local.get $mn)
                       (f32x4.add (f32x4.div (f32x4.sqrt (local.get $vn)) (f32x4.splat (local.get $sqrtc2))) (f32x4.splat (local.get $eps))))
            (f32x4.splat (local.get $stepSize)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $step))))
)
