// Every element is u_value.
uniform float u_value;
void run() { setOutput(u_value); }
