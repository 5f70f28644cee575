/**
 * Importing this module registers every built-in component and config section.
 * Component modules keep native dependencies (sharp, onnxruntime-node) out of their top level, so
 * the registry can be loaded anywhere, the editor included.
 */
import './engine/configSection';
import './data/configSection';
import './data';
import './train/configSections';
import './models/backbones/resnet';
import './models/backbones/mobilenetV2';
import './models/backbones/visionTransformer';
import './models/heads/clsHead';
import './models/losses/crossEntropy';
import './models/algorithms/classification';
import './train/optimizers/sgd';
import './train/optimizers/adamw';
import './train/optimizers/lars';
import './train/schedules';
import './train/hooks/ema';
import './eval/clsEvaluator';

