/** Importing this module registers every built-in loss (`cvw list losses`; the `loss:` slots). */
import './crossEntropy';
import './focalLoss';
import './pixelCrossEntropy';
import './ntXent';
import './infoNCE';
import './normalizedMse';
import './negativeCosine';
import './swavLoss';
import './dinoLoss';
import './maskedPatchLoss';
