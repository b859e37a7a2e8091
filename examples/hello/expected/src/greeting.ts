export const greeting = (who = "world"): string => `Hello, ${who}!`

console.log(greeting())
