;; Batch-norm passes over activations viewed as [N, K, C] float32 (channels innermost, C a
;; multiple of 4): f32x4 over 4 channels at a time. Pointers are byte offsets into the memory of
;; the TensorFlow.js wasm backend; per-channel vectors are [C], per-sample sums [N, C].
(module
  (import "env" "memory" (memory 0))

  ;; sums[s, ch] = Σ_p x[s, p, ch], p ascending, in float32.
  (func (export "sums") (param $x i32) (param $n i32) (param $k i32) (param $c i32) (param $out i32)
    (local $end i32) (local $p i32) (local $o i32) (local $cb i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $out) (i32.mul (local.get $n) (local.get $cb))))
    (block $done_s (loop $loop_s
      (br_if $done_s (i32.ge_u (local.get $out) (local.get $end)))
      (memory.fill (local.get $out) (i32.const 0) (local.get $cb))
      (local.set $p (local.get $k))
      (block $done_p (loop $loop_p
        (br_if $done_p (i32.eqz (local.get $p)))
        (local.set $o (i32.const 0))
        (block $done_c (loop $loop_c
          (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
          (v128.store (i32.add (local.get $out) (local.get $o))
            (f32x4.add (v128.load (i32.add (local.get $out) (local.get $o)))
                       (v128.load (i32.add (local.get $x) (local.get $o)))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $loop_c)))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $loop_p)))
      (local.set $out (i32.add (local.get $out) (local.get $cb)))
      (br $loop_s))))

  ;; sums[s, ch] = Σ_p (x[s, p, ch] − mean[ch])², p ascending, in float32.
  (func (export "centered_square_sums") (param $x i32) (param $mean i32) (param $n i32) (param $k i32) (param $c i32) (param $out i32)
    (local $end i32) (local $p i32) (local $o i32) (local $cb i32) (local $d v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $out) (i32.mul (local.get $n) (local.get $cb))))
    (block $done_s (loop $loop_s
      (br_if $done_s (i32.ge_u (local.get $out) (local.get $end)))
      (memory.fill (local.get $out) (i32.const 0) (local.get $cb))
      (local.set $p (local.get $k))
      (block $done_p (loop $loop_p
        (br_if $done_p (i32.eqz (local.get $p)))
        (local.set $o (i32.const 0))
        (block $done_c (loop $loop_c
          (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
          (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o)))
                                   (v128.load (i32.add (local.get $mean) (local.get $o)))))
          (v128.store (i32.add (local.get $out) (local.get $o))
            (f32x4.add (v128.load (i32.add (local.get $out) (local.get $o)))
                       (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $loop_c)))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $loop_p)))
      (local.set $out (i32.add (local.get $out) (local.get $cb)))
      (br $loop_s))))

  ;; y = (x − mean)·scale + shift, per channel, over m rows.
  (func (export "normalize") (param $x i32) (param $mean i32) (param $scale i32) (param $shift i32) (param $m i32) (param $c i32) (param $y i32)
    (local $end i32) (local $o i32) (local $cb i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $m) (local.get $cb))))
    (block $done_r (loop $loop_r
      (br_if $done_r (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $o (i32.const 0))
      (block $done_c (loop $loop_c
        (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
        (v128.store (i32.add (local.get $y) (local.get $o))
          (f32x4.add
            (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o)))
                                  (v128.load (i32.add (local.get $mean) (local.get $o))))
                       (v128.load (i32.add (local.get $scale) (local.get $o))))
            (v128.load (i32.add (local.get $shift) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $loop_c)))
      (local.set $x (i32.add (local.get $x) (local.get $cb)))
      (local.set $y (i32.add (local.get $y) (local.get $cb)))
      (br $loop_r))))

  ;; sum_dy[s, ch] = Σ_p dy;  sum_dyxc[s, ch] = Σ_p dy·(x − mean), p ascending, in float32.
  (func (export "grad_sums") (param $dy i32) (param $x i32) (param $mean i32) (param $n i32) (param $k i32) (param $c i32) (param $sdy i32) (param $sdyx i32)
    (local $end i32) (local $p i32) (local $o i32) (local $cb i32) (local $g v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $sdy) (i32.mul (local.get $n) (local.get $cb))))
    (block $done_s (loop $loop_s
      (br_if $done_s (i32.ge_u (local.get $sdy) (local.get $end)))
      (memory.fill (local.get $sdy) (i32.const 0) (local.get $cb))
      (memory.fill (local.get $sdyx) (i32.const 0) (local.get $cb))
      (local.set $p (local.get $k))
      (block $done_p (loop $loop_p
        (br_if $done_p (i32.eqz (local.get $p)))
        (local.set $o (i32.const 0))
        (block $done_c (loop $loop_c
          (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
          (local.set $g (v128.load (i32.add (local.get $dy) (local.get $o))))
          (v128.store (i32.add (local.get $sdy) (local.get $o))
            (f32x4.add (v128.load (i32.add (local.get $sdy) (local.get $o))) (local.get $g)))
          (v128.store (i32.add (local.get $sdyx) (local.get $o))
            (f32x4.add (v128.load (i32.add (local.get $sdyx) (local.get $o)))
                       (f32x4.mul (local.get $g)
                                  (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o)))
                                             (v128.load (i32.add (local.get $mean) (local.get $o)))))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $loop_c)))
        (local.set $dy (i32.add (local.get $dy) (local.get $cb)))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $loop_p)))
      (local.set $sdy (i32.add (local.get $sdy) (local.get $cb)))
      (local.set $sdyx (i32.add (local.get $sdyx) (local.get $cb)))
      (br $loop_s))))

  ;; dx = (dy·a + (x − mean)·b) + d, per channel, over m rows.
  (func (export "grad_input") (param $dy i32) (param $x i32) (param $mean i32) (param $a i32) (param $b i32) (param $d i32) (param $m i32) (param $c i32) (param $dx i32)
    (local $end i32) (local $o i32) (local $cb i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $m) (local.get $cb))))
    (block $done_r (loop $loop_r
      (br_if $done_r (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $o (i32.const 0))
      (block $done_c (loop $loop_c
        (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
        (v128.store (i32.add (local.get $dx) (local.get $o))
          (f32x4.add
            (f32x4.add
              (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $o))) (v128.load (i32.add (local.get $a) (local.get $o))))
              (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o)))
                                    (v128.load (i32.add (local.get $mean) (local.get $o))))
                         (v128.load (i32.add (local.get $b) (local.get $o)))))
            (v128.load (i32.add (local.get $d) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $loop_c)))
      (local.set $dy (i32.add (local.get $dy) (local.get $cb)))
      (local.set $x (i32.add (local.get $x) (local.get $cb)))
      (local.set $dx (i32.add (local.get $dx) (local.get $cb)))
      (br $loop_r))))

;; The same three passes with an activation fused after the normalisation, z = (x − mean)·scale +
  ;; shift: y = min(max(z, 0), hi) (ReLU: hi = +inf; ReLU6: hi = 6), and in the backward passes
  ;; g = dy·[0 < z ≤ hi] in place of dy (dy's bits under the comparison's mask: +0 where the
  ;; composed dy·mask gives ±0, which the sums cannot tell apart), z worked out again from x with the forward pass's operations (the same bits),
  ;; so neither z nor the activation's gradient is ever stored. pmax/pmin are the comparisons
  ;; `z < 0 ? 0 : z` of TensorFlow.js' kernels (NaN and −0 pass through). Written out inline: a
  ;; first version with helper functions called per vector was markedly slower here.

  ;; y = min(max((x − mean)·scale + shift, 0), hi), per channel, over m rows.
  (func (export "normalize_act") (param $x i32) (param $mean i32) (param $scale i32) (param $shift i32) (param $hi f32) (param $m i32) (param $c i32) (param $y i32)
    (local $end i32) (local $o i32) (local $cb i32) (local $top v128)
    (local.set $top (f32x4.splat (local.get $hi)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $m) (local.get $cb))))
    (block $done_r (loop $loop_r
      (br_if $done_r (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $o (i32.const 0))
      (block $done_c (loop $loop_c
        (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
        (v128.store (i32.add (local.get $y) (local.get $o))
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.add
                (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o)))
                                      (v128.load (i32.add (local.get $mean) (local.get $o))))
                           (v128.load (i32.add (local.get $scale) (local.get $o))))
                (v128.load (i32.add (local.get $shift) (local.get $o))))
              (v128.const f32x4 0 0 0 0))
            (local.get $top)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $loop_c)))
      (local.set $x (i32.add (local.get $x) (local.get $cb)))
      (local.set $y (i32.add (local.get $y) (local.get $cb)))
      (br $loop_r))))

  ;; grad_sums of g = dy·[0 < z ≤ hi].
  (func (export "grad_sums_act") (param $dy i32) (param $x i32) (param $mean i32) (param $scale i32) (param $shift i32) (param $hi f32) (param $n i32) (param $k i32) (param $c i32) (param $sdy i32) (param $sdyx i32)
    (local $end i32) (local $p i32) (local $o i32) (local $cb i32) (local $g v128) (local $xc v128) (local $z v128) (local $top v128)
    (local.set $top (f32x4.splat (local.get $hi)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $sdy) (i32.mul (local.get $n) (local.get $cb))))
    (block $done_s (loop $loop_s
      (br_if $done_s (i32.ge_u (local.get $sdy) (local.get $end)))
      (memory.fill (local.get $sdy) (i32.const 0) (local.get $cb))
      (memory.fill (local.get $sdyx) (i32.const 0) (local.get $cb))
      (local.set $p (local.get $k))
      (block $done_p (loop $loop_p
        (br_if $done_p (i32.eqz (local.get $p)))
        (local.set $o (i32.const 0))
        (block $done_c (loop $loop_c
          (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
          (local.set $xc (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o)))
                                    (v128.load (i32.add (local.get $mean) (local.get $o)))))
          (local.set $z (f32x4.add (f32x4.mul (local.get $xc) (v128.load (i32.add (local.get $scale) (local.get $o))))
                                   (v128.load (i32.add (local.get $shift) (local.get $o)))))
          (local.set $g (v128.and (v128.load (i32.add (local.get $dy) (local.get $o)))
                                  (v128.and (f32x4.gt (local.get $z) (v128.const f32x4 0 0 0 0))
                                            (f32x4.le (local.get $z) (local.get $top)))))
          (v128.store (i32.add (local.get $sdy) (local.get $o))
            (f32x4.add (v128.load (i32.add (local.get $sdy) (local.get $o))) (local.get $g)))
          (v128.store (i32.add (local.get $sdyx) (local.get $o))
            (f32x4.add (v128.load (i32.add (local.get $sdyx) (local.get $o)))
                       (f32x4.mul (local.get $g) (local.get $xc))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $loop_c)))
        (local.set $dy (i32.add (local.get $dy) (local.get $cb)))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $loop_p)))
      (local.set $sdy (i32.add (local.get $sdy) (local.get $cb)))
      (local.set $sdyx (i32.add (local.get $sdyx) (local.get $cb)))
      (br $loop_s))))

  ;; grad_input of g = dy·[0 < z ≤ hi].
  (func (export "grad_input_act") (param $dy i32) (param $x i32) (param $mean i32) (param $scale i32) (param $shift i32) (param $hi f32) (param $a i32) (param $b i32) (param $d i32) (param $m i32) (param $c i32) (param $dx i32)
    (local $end i32) (local $o i32) (local $cb i32) (local $xc v128) (local $z v128) (local $top v128)
    (local.set $top (f32x4.splat (local.get $hi)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $m) (local.get $cb))))
    (block $done_r (loop $loop_r
      (br_if $done_r (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $o (i32.const 0))
      (block $done_c (loop $loop_c
        (br_if $done_c (i32.ge_u (local.get $o) (local.get $cb)))
        (local.set $xc (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o)))
                                  (v128.load (i32.add (local.get $mean) (local.get $o)))))
        (local.set $z (f32x4.add (f32x4.mul (local.get $xc) (v128.load (i32.add (local.get $scale) (local.get $o))))
                                 (v128.load (i32.add (local.get $shift) (local.get $o)))))
        (v128.store (i32.add (local.get $dx) (local.get $o))
          (f32x4.add
            (f32x4.add
              (f32x4.mul (v128.and (v128.load (i32.add (local.get $dy) (local.get $o)))
                                   (v128.and (f32x4.gt (local.get $z) (v128.const f32x4 0 0 0 0))
                                             (f32x4.le (local.get $z) (local.get $top))))
                         (v128.load (i32.add (local.get $a) (local.get $o))))
              (f32x4.mul (local.get $xc) (v128.load (i32.add (local.get $b) (local.get $o)))))
            (v128.load (i32.add (local.get $d) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $loop_c)))
      (local.set $dy (i32.add (local.get $dy) (local.get $cb)))
      (local.set $x (i32.add (local.get $x) (local.get $cb)))
      (local.set $dx (i32.add (local.get $dx) (local.get $cb)))
      (br $loop_r))))
)
