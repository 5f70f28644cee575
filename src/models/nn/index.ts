export * from './module';
export * from './layers';
export * from './init';
export * from './stepRandom';
export * from './stopGradient';
export * from './attention';
