// jsroot declares its own entry points loosely; the subpath we import is declared here the same way.
declare module 'jsroot/io';
