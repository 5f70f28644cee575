;; The depthwise convolution's inner loops, forward and both gradients
;; (src/engine/kernels/depthwiseConv2dNative*.ts), in WebAssembly SIMD, for one filter tap and one run of output positions (at most one output
;; row), channels innermost, f32x4 over four channels. Pointers are byte offsets into the memory of
;; the TensorFlow.js wasm backend; xs (x's step a position) and c in elements, c a multiple of 4.
(module
  (import "env" "memory" (memory 0))

;; Filter gradient: acc[k] += Σ_p x[p·xs + k] · dy[p·c + k], each channel's run summed in float32
;; and added to its float64 accumulator (acc float64, x and dy float32).
  (func (export "tap_run") (param $acc i32) (param $x i32) (param $xs i32) (param $dy i32) (param $c i32) (param $len i32)
    (local $o i32) (local $cb i32) (local $xsb i32) (local $xp i32) (local $dp i32) (local $p i32) (local $s v128) (local $a i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xsb (i32.shl (local.get $xs) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $done_c (loop $loop_c
      (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
      (local.set $s (v128.const i32x4 0 0 0 0))
      (local.set $xp (i32.add (local.get $x) (local.get $o)))
      (local.set $dp (i32.add (local.get $dy) (local.get $o)))
      (local.set $p (local.get $len))
      (block $done_p (loop $loop_p
        (br_if $done_p (i32.eqz (local.get $p)))
        (local.set $s (f32x4.add (local.get $s) (f32x4.mul (v128.load (local.get $xp)) (v128.load (local.get $dp)))))
        (local.set $xp (i32.add (local.get $xp) (local.get $xsb)))
        (local.set $dp (i32.add (local.get $dp) (local.get $cb)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $loop_p)))
      ;; four float32 sums into four float64 accumulators (byte offset 2·o)
      (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $o) (i32.const 1))))
      (v128.store (local.get $a) (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $s))))
      (v128.store offset=16 (local.get $a)
        (f64x2.add (v128.load offset=16 (local.get $a))
                   (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $s) (local.get $s)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $loop_c))))
;; Input gradient: dx[p·xs + k] += dy[p·c + k] · f[k] over the run (float32).
  (func (export "tap_run_input") (param $dx i32) (param $xs i32) (param $dy i32) (param $f i32) (param $c i32) (param $len i32)
    (local $o i32) (local $cb i32) (local $xsb i32) (local $xp i32) (local $dp i32) (local $p i32) (local $fv v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xsb (i32.shl (local.get $xs) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $done_c (loop $loop_c
      (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
      (local.set $fv (v128.load (i32.add (local.get $f) (local.get $o))))
      (local.set $xp (i32.add (local.get $dx) (local.get $o)))
      (local.set $dp (i32.add (local.get $dy) (local.get $o)))
      (local.set $p (local.get $len))
      (block $done_p (loop $loop_p
        (br_if $done_p (i32.eqz (local.get $p)))
        (v128.store (local.get $xp) (f32x4.add (v128.load (local.get $xp)) (f32x4.mul (v128.load (local.get $dp)) (local.get $fv))))
        (local.set $xp (i32.add (local.get $xp) (local.get $xsb)))
        (local.set $dp (i32.add (local.get $dp) (local.get $cb)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $loop_p)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $loop_c))))
;; Forward: out[p·c + k] += x[p·xs + k] · f[k] over the run (float32).
  (func (export "tap_run_forward") (param $out i32) (param $x i32) (param $xs i32) (param $f i32) (param $c i32) (param $len i32)
    (local $o i32) (local $cb i32) (local $xsb i32) (local $xp i32) (local $op i32) (local $p i32) (local $fv v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xsb (i32.shl (local.get $xs) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $done_c (loop $loop_c
      (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
      (local.set $fv (v128.load (i32.add (local.get $f) (local.get $o))))
      (local.set $xp (i32.add (local.get $x) (local.get $o)))
      (local.set $op (i32.add (local.get $out) (local.get $o)))
      (local.set $p (local.get $len))
      (block $done_p (loop $loop_p
        (br_if $done_p (i32.eqz (local.get $p)))
        (v128.store (local.get $op) (f32x4.add (v128.load (local.get $op)) (f32x4.mul (v128.load (local.get $xp)) (local.get $fv))))
        (local.set $xp (i32.add (local.get $xp) (local.get $xsb)))
        (local.set $op (i32.add (local.get $op) (local.get $cb)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $loop_p)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $loop_c))))
)
