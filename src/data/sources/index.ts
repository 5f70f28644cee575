/** Importing this module registers every built-in data source. */
import './imageList';
import './imageFolder';
import './idx';
import './cifar';
import './tfrecord';
import './coco';
import './segmentation';
