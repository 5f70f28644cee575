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
import './models/backbones/swinTransformer';
import './models/backbones/convnext';
import './models/necks/nonLinearNeck';
import './models/necks/maeNeck';
import './models/heads/clsHead';
import './models/heads/contrastiveHead';
import './models/heads/latentPredictHead';
import './models/heads/dinoHead';
import './models/heads/swavHead';
import './models/losses';
import './models/algorithms/classification';
import './models/backbones/cspDarknet';
import './models/necks/yoloPafpn';
import './models/heads/yoloxHead';
import './models/algorithms/detection/yolox';
import './models/heads/segmentation/fcnHead';
import './models/heads/segmentation/uperHead';
import './models/algorithms/segmentation/encoderDecoder';
import './models/algorithms/selfsup/simclr';
import './models/algorithms/selfsup/mocoV2';
import './models/algorithms/selfsup/byol';
import './models/algorithms/selfsup/swav';
import './models/algorithms/selfsup/moby';
import './models/algorithms/selfsup/dino';
import './models/algorithms/selfsup/mae';
import './models/algorithms/selfsup/fcmae';
import './train/optimizers/sgd';
import './train/optimizers/adamw';
import './train/optimizers/lars';
import './train/schedules';
import './train/hooks/ema';
import './train/hooks/weightDecaySchedule';
import './eval/clsEvaluator';
import './eval/coco';
import './eval/segEvaluator';
import './export/predict';
import './export/exportHook';
import './eval/knn';

