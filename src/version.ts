// The operator's version, as in package.json (a unit test holds them equal). A constant rather
// than a read of package.json at run time: the file sits at another depth under dist/.
export const OPERATOR_VERSION = '0.1.0';
