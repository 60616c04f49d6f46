// The part of jStat's API the fits use (jStat ships no types).
declare module 'jstat' {
  interface StudentT {
    cdf(x: number, dof: number): number;
    inv(p: number, dof: number): number;
  }
  const jStatModule: { jStat: { studentt: StudentT } } & { studentt?: StudentT };
  export default jStatModule;
}
