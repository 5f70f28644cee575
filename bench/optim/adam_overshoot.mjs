// Adam's step size, in units of the learning rate, for a parameter held without gradients for
// `held` optimizer steps and then given a constant gradient: bias correction by the optimizer's
// step count (what AdamW did before 2026-12-06) or by the parameter's own (PyTorch's state['step']).
// DINO holds its last layer for the first epoch (938 steps on Fashion-MNIST at batch 64).
// Usage: node bench/optim/adam_overshoot.mjs [held=938]
const held = Number(process.argv[2] ?? 938);
const [b1, b2, eps, g] = [0.9, 0.999, 1e-8, 1];
let m = 0;
let v = 0;
const optimizers = [];
const own = [];
for (let k = 1; k <= 100; k++) {
  m = b1 * m + (1 - b1) * g;
  v = b2 * v + (1 - b2) * g * g;
  const step = (t) => m / (1 - b1 ** t) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
  optimizers.push(step(held + k));
  own.push(step(k));
}
const describe = (a) => {
  const max = Math.max(...a);
  return `first ${a[0].toFixed(2)}, max ${max.toFixed(2)} (step ${a.indexOf(max) + 1}), at 100 ${a[99].toFixed(2)}, mean ${(a.reduce((x, y) => x + y) / a.length).toFixed(2)}`;
};
console.log(`held ${held} steps; the optimizer's count: ${describe(optimizers)}`);
console.log(`held ${held} steps; the parameter's own:  ${describe(own)}`);
