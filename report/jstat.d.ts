/** The part of jStat (no published types) that compare uses: Student's t distribution. */
declare module 'jstat' {
  const jStat: { studentt: { cdf(x: number, dof: number): number } }
  export default jStat
}
