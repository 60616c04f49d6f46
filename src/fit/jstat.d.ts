// The part of jStat's API the fits use (jStat ships no types).
declare module 'jstat' {
  interface StudentT {
    cdf(x: number, dof: number): number;
    inv(p: number, dof: number): number;
  }
  /** The regularized incomplete beta function I_x(a, b). */
  type IBeta = (x: number, a: number, b: number) => number;
  const jStatModule: { jStat: { studentt: StudentT; ibeta: IBeta } } & { studentt?: StudentT; ibeta?: IBeta };
  export default jStatModule;
}
