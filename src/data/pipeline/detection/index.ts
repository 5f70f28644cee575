/** Detection augmentations (YOLOX's): Mosaic, MixUp, RandomAffine, RandomHSV, LetterboxResize. */
import './letterbox';
import './hsv';
import './randomAffine';
import './mosaic';
import './mixup';
