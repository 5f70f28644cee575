/**
 * The input side: importing this module registers every data source, pipeline step and dataset.
 * Component modules keep sharp out of their top level (decoding loads it on first use).
 */
import './sources';
import './pipeline';
import './datasets';
import './segDataset';
