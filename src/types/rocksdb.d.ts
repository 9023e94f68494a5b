// rocksdb ships no typings; src/meta/rocks.ts declares the narrow shape it uses.
declare module 'rocksdb' {
  const factory: unknown;
  export default factory;
}
