/** The part of jStat (no published types) that authbench uses: Student's t distribution (compare's Welch test, the CIs over repeats). */
declare module 'jstat' {
  const jStat: { studentt: { cdf(x: number, dof: number): number; inv(p: number, dof: number): number } }
  export default jStat
}
