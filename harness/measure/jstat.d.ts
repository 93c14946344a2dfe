/** The part of jStat (no published types) that authbench uses: Student's t (compare's Welch test, the CIs over repeats) and F (the paired test's check that repeats agree). */
declare module 'jstat' {
  const jStat: {
    studentt: { cdf(x: number, dof: number): number; inv(p: number, dof: number): number }
    centralF: { cdf(x: number, df1: number, df2: number): number }
  }
  export default jStat
}
