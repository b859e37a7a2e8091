export const greeting = (who = "{{name}}"): string => `Hello, ${who}!`

console.log(greeting())
