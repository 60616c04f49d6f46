declare module 'plotly.js-gl3d-dist-min' {
  const Plotly: unknown;
  export default Plotly;
}
