/** Every `cvw` sub-command, in the order `cvw --help` lists them. */
import type { CommandSpec } from '../args';
import { validateCommand } from './validate';
import { configPrintCommand } from './config';
import { schemaCommand } from './schema';
import { trainCommand } from './train';
import { evalCommand } from './eval';
import { initCommand } from './init';
import { listCommand, showCommand } from './catalog';
import { dataFetchCommand } from './dataFetch';
import { dataInspectCommand } from './dataInspect';
import { dataPackCommand } from './dataPack';
import { dataSynthCommand } from './dataSynth';
import { dataBrowseCommand } from './dataBrowse';
import { summaryCommand } from './summary';
import { envCommand } from './env';
import { exportCommand } from './export';
import { predictCommand } from './predict';
import { retrieveCommand } from './retrieve';
import { benchmarkKnnCommand, benchmarkLinearCommand } from './benchmark';
import { benchmarkCocoCommand } from './benchmarkCoco';
import { extractCommand } from './extract';
import { reportCommand } from './report';
import { weightsConvertCommand, weightsExportCommand, weightsInspectCommand } from './weights';
import { submitCommand } from './submit';
import { QUEUE_COMMANDS } from './queue';

export const COMMANDS: CommandSpec[] = [trainCommand, submitCommand, ...QUEUE_COMMANDS, evalCommand, benchmarkKnnCommand, benchmarkLinearCommand, benchmarkCocoCommand, extractCommand, initCommand, listCommand, showCommand, summaryCommand, validateCommand, configPrintCommand, schemaCommand, dataFetchCommand, dataInspectCommand, dataBrowseCommand, dataPackCommand, dataSynthCommand, envCommand, exportCommand, predictCommand, retrieveCommand, reportCommand, weightsInspectCommand, weightsConvertCommand, weightsExportCommand];
